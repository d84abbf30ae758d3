"""A local CodeCommit endpoint (JSON 1.1 wire protocol) backed by real bare git repositories.

moto lacks the commit calls (CreateCommit, GetBranch, GetCommit, GetFile, GetFolder), so the sandbox and the tests
point a real boto3 client here instead. fields: checks of request fields; git: the git plumbing; repositories: what
each call does; folders: GetFolder; server: serving it.
"""

from bot.sandbox.aws.fake_codecommit.fields import ApiError
from bot.sandbox.aws.fake_codecommit.server import FakeCodeCommit

__all__ = ["ApiError", "FakeCodeCommit"]
