"""Reports: turn an Analysis into text (rich tables, JSON, CSV, Markdown). Formatting lives here only."""
