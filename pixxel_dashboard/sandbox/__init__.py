"""A local simulator of Pixxel's workflow/job API (see DESIGN.md), served by its own WSGI app.

    ids.py         fixed ids of the seeded projects and workflows
    seed.py        the seeded projects and workflows (graphs, durations, costs, failures)
    simulation.py  simulated clock, per-key job worlds, job/task state at "now" (no HTTP)
    app.py         the WSGI app: Pixxel's endpoints, faults, stats, the /_sandbox/ control API
    server.py      SandboxServer: the app on a threading wsgiref server (tests, manage.py pixxel_sandbox)

The check of its answers against pixxel/openapi.json is a test tool: tests/contract.py.

Keys starting with `sbx_` are valid, each its own world of jobs; seeded data is shared by every key.
Unknown workflow/job/task ids answer 400 (the contract declares only 400/403 on those paths); a project the
workflow is not in answers 403; an unknown project on /v0/projects/{id} answers 404.
"""
