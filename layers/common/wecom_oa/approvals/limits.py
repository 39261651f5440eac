"""Bounds of an approval form (listed with the API's other limits in api.py `LIMITS`). A form is
stored with its approval and travels in its events (DynamoDB 400 KB, EventBridge and Step Functions
256 KB), so besides the rule set's declared fields it keeps only a few small extras. Enforced by
approvals/rules.py `check_form_bounds`."""

FORM_MAX_BYTES = 16 * 1024  # the whole form as JSON
FORM_MAX_DEPTH = 4  # nesting inside the form (a list of userids is 1)
FORM_MAX_LIST_ITEMS = 20  # items of one list in the form (handover_to, form_field approvers)
FORM_MAX_EXTRA_KEYS = 8  # keys that are not fields of the type
FORM_MAX_EXTRA_KEY_CHARS = 64
FORM_MAX_EXTRA_VALUE_BYTES = 1024  # one extra key's value as JSON
