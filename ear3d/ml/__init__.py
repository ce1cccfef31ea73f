"""The artificial ear: constant-Q front end and the CPC network (torch lives here)."""
