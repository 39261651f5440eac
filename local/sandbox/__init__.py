"""The local WeCom sandbox: a fake of the WeCom server API for local mode (never deployed)."""
