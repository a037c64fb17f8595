"""Shadow replay of a helpdesk's solved tickets: datasets, shadow runs, forecasts, experiments, content gaps.

Nothing in this package posts to a helpdesk or writes to the live state database: results live in their own
files under data_dir/replay, apart from live reviews.
"""
