"""Local fake servers that speak the real wire formats (FRED XML/CSV, NY Fed, FiscalData, Telegram)."""
