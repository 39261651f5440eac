"""WeCom OA Automation: the application package shared by every function (the Lambda layer)."""
