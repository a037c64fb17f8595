"""The admin commands (`deskdraft ...` or `flask --app webhooks ...`): config check, reports, audit, set-up."""
