"""The Slack stand-in: a Web API, a workspace, signed requests and the page."""
