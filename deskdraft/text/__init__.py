"""Text handling shared by connectors/, drafting/ and knowledge/: HTML to text (`html_text`) and the URL, e-mail and
host patterns (`patterns`). It lives here, not in one of the three, because all three read it and none owns it.
"""
