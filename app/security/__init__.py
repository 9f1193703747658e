"""Security settings, account locks and tokens for the 安全管理员, and the 等保 evidence report."""
