"""Stable identifiers of the sandbox's seeded data.

Tests and the demo name seeded projects and workflows by these constants; the ids are fixed UUIDs so
bookmarks and fixtures survive restarts. The definitions (names, graphs, costs) live in seed.py.
"""

PROJECT_AGRI = "189896e7-95b2-5984-b5b9-399705cb0649"
PROJECT_COASTAL = "71bf80df-811f-5ca5-a347-03765ab4290e"
PROJECT_URBAN = "8a3a8eeb-9db6-50af-8566-216703e7f0aa"
PROJECT_ARCHIVE = "51fe496e-58cc-53f8-b38a-4d6f7df9689e"
WF_LINEAR = "aaa5f1ec-0594-5cce-8d83-0123c36ce260"
WF_DIAMOND = "f6144b15-7d29-576b-b94f-223aac6579ac"
WF_FANOUT = "b8087ed5-35cb-5447-bd09-01f2b1dda42b"
WF_VALIDATION = "af903ab5-125e-5bf4-a742-6bc5487214e9"
WF_FAILING = "bf24ddb9-7086-51a1-9747-43683a43b82b"
WF_SLOW = "ab346862-f145-58b8-b763-7384e10fb044"
WF_EXPENSIVE = "3365f8ef-3804-5d2e-9293-de72b65045fa"
WF_WATER = "48cd47bd-c3f6-5d87-b7c6-ff2f4b81eaca"
