"""The one error the IAM package raises: a policy document that IAM would reject."""

from __future__ import annotations

# The texts IAM returns in MalformedPolicyDocument errors, reused so that the control plane can
# answer with the same words AWS uses.
SYNTAX_ERROR = "Syntax errors in policy."
MISSING_ACTIONS = "Policy statement must contain actions."
MISSING_RESOURCES = "Policy statement must contain resources."
PRINCIPAL_NOT_ALLOWED = "Policy document should not specify a principal."
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
BAD_SID = "Statement IDs (SID) must be alpha-numeric."
MISSING_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
INVALID_PRINCIPAL = "Invalid principal in policy"


class PolicyError(ValueError):
    """Raised when a policy document is malformed; names the offending element.

    ``element`` is a path into the document (``"Statement[1].Effect"``; empty for the document
    as a whole), ``iam_message`` the text IAM itself returns, and ``message`` that text followed
    by what exactly is wrong.
    """

    def __init__(
        self, element: str, iam_message: str, detail: str = "", *, policy_name: str = ""
    ) -> None:
        self.element = element
        self.iam_message = iam_message
        self.detail = detail
        self.policy_name = policy_name
        self.message = f"{iam_message} {detail}".strip()
        super().__init__(self.message)

    def with_policy_name(self, name: str) -> PolicyError:
        """Return a copy that also names the policy the element belongs to."""
        return PolicyError(self.element, self.iam_message, self.detail, policy_name=name)

    def __str__(self) -> str:
        where = self.element or "document"
        if self.policy_name:
            where = f"policy {self.policy_name!r}, {where}"

        return f"{where}: {self.message}"
