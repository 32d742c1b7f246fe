"""The sandbox's deterministic seeded data: projects and workflows (graphs, durations, costs, failures).

Seeded projects and workflows are visible to every key; jobs are per key (see simulation.py). Durations are
simulated seconds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from . import ids

NAMESPACE = uuid.UUID("5a4d8d9e-6f0b-4c55-9f3e-7c1d2b3a4e5f")
ORG_ID = str(uuid.uuid5(NAMESPACE, "org:sandbox"))
USER_PRIYA = str(uuid.uuid5(NAMESPACE, "user:priya"))
USER_MARCO = str(uuid.uuid5(NAMESPACE, "user:marco"))
USER_ARCHIVIST = str(uuid.uuid5(NAMESPACE, "user:archivist"))

# name -> (block id, version)
BLOCKS: dict[str, tuple[str, str]] = {
    name: (str(uuid.uuid5(NAMESPACE, f"block:{name}")), version)
    for name, version in [
        ("AOI", "1.2.0"),
        ("Scene fetch", "2.4.1"),
        ("Cloud mask", "1.7.3"),
        ("Atmospheric correction", "3.1.0"),
        ("Orthorectification", "2.0.5"),
        ("NDVI", "1.4.2"),
        ("Band math", "1.1.0"),
        ("Tiling", "1.0.4"),
        ("Mosaic", "2.2.0"),
        ("Water quality index", "0.9.1"),
        ("Export GeoTIFF", "1.3.0"),
    ]
}

EPOCH = datetime(2025, 3, 3, 9, 0, 0, tzinfo=UTC)

AOI_VALUE = {
    "type": "Polygon",
    "coordinates": [
        [[77.50, 12.90], [77.70, 12.90], [77.70, 13.10], [77.50, 13.10], [77.50, 12.90]]
    ],
}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def data(name: str, type_: str, value: Any, fmt: str = "json", description: str = "") -> dict:
    """A Pixxel data-type object as found in inputs/results/specs."""
    return {
        "format": fmt,
        "name": name,
        "type": type_,
        "description": description or name.replace("_", " "),
        "value": value,
    }


@dataclass(frozen=True)
class TaskDef:
    name: str
    block: str  # a key of BLOCKS
    duration: float
    depends_on: tuple[str, ...] = ()
    cost: int = 0
    fails_after: float | None = None  # seconds into the task when it fails (runtime_exception)
    err_msg: str = ""

    @property
    def block_info(self) -> dict[str, str]:
        block_id, version = BLOCKS[self.block]
        return {"id": block_id, "name": self.block, "version": version}


@dataclass(frozen=True)
class ProjectDef:
    id: str
    title: str
    created_at: str
    members_count: int = 3

    @property
    def name(self) -> str:  # Pixxel's project "name" is the slug, "title" the display name
        return self.title.lower().replace(" ", "-")

    def as_dict(self, *, with_members: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "org_id": ORG_ID,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "metadata": {"source": "pixxel-sandbox"},
        }
        if with_members:
            out["members_count"] = self.members_count
        return out


@dataclass(frozen=True)
class WorkflowDef:
    id: str
    project_id: str
    name: str
    description: str
    created_by: str
    created_at: str
    updated_at: str
    tasks: tuple[TaskDef, ...]
    val_errors: tuple[dict[str, str], ...] = ()
    queue_seconds: float = 5.0
    extra_cost: int = field(default=0)  # platform fee charged with the last task

    @property
    def estimated_cost(self) -> int:
        return sum(t.cost for t in self.tasks) + self.extra_cost

    @property
    def spec(self) -> dict[str, Any]:
        """The workflow's raw spec: its components (AOI data block + one per task) and edges."""
        components = [
            {
                "name": "AOI",
                "kind": "data",
                "block": {"id": BLOCKS["AOI"][0], "name": "AOI", "version": BLOCKS["AOI"][1]},
                "outputs": [data("aoi", "geometry", AOI_VALUE, "geojson", "Area of interest")],
            }
        ]
        edges = []
        for task in self.tasks:
            components.append(
                {"name": task.name, "kind": "processing", "block": task.block_info, "inputs": []}
            )
            for dep in task.depends_on or ("AOI",):
                edges.append({"from": dep, "to": task.name})
        return {"version": 1, "name": self.name, "components": components, "edges": edges}

    def list_item(self) -> dict[str, str]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "legacy_project_id": "",
            "name": self.name,
            "created_by": self.created_by,
            "description": self.description,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _at(days: float) -> str:
    return rfc3339(EPOCH + timedelta(days=days))


def _chain(*steps: tuple[str, str, float, int]) -> tuple[TaskDef, ...]:
    """A linear chain of tasks: (name, block, duration, cost) each depending on the previous."""
    tasks: list[TaskDef] = []
    previous: tuple[str, ...] = ()
    for name, block, duration, cost in steps:
        tasks.append(TaskDef(name, block, duration, previous, cost))
        previous = (name,)
    return tuple(tasks)


PROJECTS: tuple[ProjectDef, ...] = (
    ProjectDef(ids.PROJECT_AGRI, "Agricultural Health", _at(0), 5),
    ProjectDef(ids.PROJECT_COASTAL, "Coastal Monitoring", _at(1), 4),
    ProjectDef(ids.PROJECT_URBAN, "Urban Heat Islands", _at(2), 3),
    ProjectDef(ids.PROJECT_ARCHIVE, "Archive", _at(3), 1),
)


def _fanout_tasks() -> tuple[TaskDef, ...]:
    tiles = [
        TaskDef(f"Tile {i:03d}", "Band math", 8.0 + (i * 7) % 13, ("Tiling",), 4)
        for i in range(1, 53)
    ]
    return (
        TaskDef("Scene fetch", "Scene fetch", 12.0, (), 40),
        TaskDef("Tiling", "Tiling", 6.0, ("Scene fetch",), 10),
        *tiles,
        TaskDef("Mosaic", "Mosaic", 15.0, tuple(t.name for t in tiles), 30),
        TaskDef("Export GeoTIFF", "Export GeoTIFF", 5.0, ("Mosaic",), 8),
    )


# A legal but very large job: 2,000 tasks, each after the previous (the job page's scale test).
WF_CHAIN_2000 = str(uuid.uuid5(NAMESPACE, "workflow:chain-2000"))
CHAIN_LENGTH = 2000


def _long_chain_tasks() -> tuple[TaskDef, ...]:
    blocks = ("Band math", "Cloud mask", "NDVI", "Tiling")
    return _chain(
        *(
            (f"Strip {i:04d}", blocks[i % len(blocks)], 1.0 + (i % 3) * 0.5, 1)
            for i in range(1, CHAIN_LENGTH + 1)
        )
    )


_MAIN_WORKFLOWS: tuple[WorkflowDef, ...] = (
    WorkflowDef(
        ids.WF_LINEAR,
        ids.PROJECT_AGRI,
        "Crop vigour (NDVI)",
        "Weekly NDVI over the cooperative's fields: fetch, mask clouds, correct, index, export.",
        USER_PRIYA,
        _at(10),
        _at(12),
        _chain(
            ("Scene fetch", "Scene fetch", 12.0, 40),
            ("Cloud mask", "Cloud mask", 8.0, 15),
            ("Atmospheric correction", "Atmospheric correction", 20.0, 35),
            ("NDVI", "NDVI", 6.0, 10),
            ("Export GeoTIFF", "Export GeoTIFF", 4.0, 20),
        ),
    ),
    WorkflowDef(
        ids.WF_DIAMOND,
        ids.PROJECT_AGRI,
        "Orthorectified vigour",
        "Cloud mask and orthorectification run side by side, then band math joins them.",
        USER_PRIYA,
        _at(11),
        _at(11),
        (
            TaskDef("Scene fetch", "Scene fetch", 10.0, (), 40),
            TaskDef("Cloud mask", "Cloud mask", 8.0, ("Scene fetch",), 15),
            TaskDef("Orthorectification", "Orthorectification", 16.0, ("Scene fetch",), 30),
            TaskDef("Band math", "Band math", 6.0, ("Cloud mask", "Orthorectification"), 12),
            TaskDef("Export GeoTIFF", "Export GeoTIFF", 4.0, ("Band math",), 20),
        ),
    ),
    WorkflowDef(
        ids.WF_FANOUT,
        ids.PROJECT_COASTAL,
        "Coastline tiles",
        "Splits the coastline scene into 52 tiles, computes band math per tile, mosaics them back.",
        USER_MARCO,
        _at(14),
        _at(15),
        _fanout_tasks(),
    ),
    WorkflowDef(
        WF_CHAIN_2000,
        ids.PROJECT_COASTAL,
        "Coastline strips (2,000 steps)",
        "Walks the coastline strip by strip: 2,000 tasks, each after the previous one.",
        USER_MARCO,
        _at(15),
        _at(15),
        _long_chain_tasks(),
    ),
    WorkflowDef(
        ids.WF_VALIDATION,
        ids.PROJECT_COASTAL,
        "Turbidity (draft)",
        "A draft whose graph does not validate: wired to the wrong outputs.",
        USER_MARCO,
        _at(16),
        _at(17),
        _chain(
            ("Scene fetch", "Scene fetch", 10.0, 40),
            ("Cloud mask", "Cloud mask", 8.0, 15),
            ("Water quality index", "Water quality index", 12.0, 45),
        ),
        val_errors=(
            {
                "from": "Cloud mask",
                "to": "Water quality index",
                "err": "incompatible data types",
                "reason": "Water quality index expects a 'surface_reflectance' raster but Cloud mask "
                "produces a 'cloud_mask' (uint8) raster",
                "component_name": "Water quality index",
            },
            {
                "from": "AOI",
                "to": "Scene fetch",
                "err": "missing required input",
                "reason": "Scene fetch needs a date range ('start_date', 'end_date'); none was set",
                "component_name": "Scene fetch",
            },
        ),
    ),
    WorkflowDef(
        ids.WF_FAILING,
        ids.PROJECT_URBAN,
        "Land surface temperature",
        "Thermal pipeline whose atmospheric correction crashes on the current scene.",
        USER_MARCO,
        _at(18),
        _at(18),
        (
            TaskDef("Scene fetch", "Scene fetch", 10.0, (), 40),
            TaskDef("Cloud mask", "Cloud mask", 8.0, ("Scene fetch",), 15),
            TaskDef(
                "Atmospheric correction",
                "Atmospheric correction",
                20.0,
                ("Cloud mask",),
                35,
                fails_after=9.0,
                err_msg="RuntimeError: aerosol optical thickness lookup failed: band B11 missing "
                "from scene PX_L1B_20250302T051233",
            ),
            TaskDef("Band math", "Band math", 6.0, ("Atmospheric correction",), 12),
            TaskDef("Export GeoTIFF", "Export GeoTIFF", 4.0, ("Band math",), 20),
        ),
    ),
    WorkflowDef(
        ids.WF_SLOW,
        ids.PROJECT_URBAN,
        "City-wide heat map",
        "High-resolution mosaic of the whole metro area: takes the better part of an hour.",
        USER_PRIYA,
        _at(19),
        _at(20),
        _chain(
            ("Scene fetch", "Scene fetch", 300.0, 60),
            ("Orthorectification", "Orthorectification", 900.0, 90),
            ("Mosaic", "Mosaic", 1200.0, 120),
            ("Export GeoTIFF", "Export GeoTIFF", 600.0, 30),
        ),
        queue_seconds=30.0,
    ),
    WorkflowDef(
        ids.WF_EXPENSIVE,
        ids.PROJECT_COASTAL,
        "Hyperspectral shoreline survey",
        "Full-swath hyperspectral processing of the shoreline: high credit cost.",
        USER_MARCO,
        _at(21),
        _at(22),
        _chain(
            ("Scene fetch", "Scene fetch", 20.0, 1200),
            ("Atmospheric correction", "Atmospheric correction", 30.0, 1500),
            ("Orthorectification", "Orthorectification", 25.0, 900),
            ("Water quality index", "Water quality index", 15.0, 1100),
            ("Export GeoTIFF", "Export GeoTIFF", 10.0, 300),
        ),
    ),
    WorkflowDef(
        ids.WF_WATER,
        ids.PROJECT_COASTAL,
        "Lagoon water quality",
        "Chlorophyll and turbidity indices for the lagoon, exported as GeoTIFF.",
        USER_MARCO,
        _at(23),
        _at(23),
        _chain(
            ("Scene fetch", "Scene fetch", 10.0, 40),
            ("Atmospheric correction", "Atmospheric correction", 18.0, 35),
            ("Water quality index", "Water quality index", 10.0, 45),
            ("Export GeoTIFF", "Export GeoTIFF", 4.0, 20),
        ),
    ),
)


def _archive_workflows() -> tuple[WorkflowDef, ...]:
    return tuple(
        WorkflowDef(
            str(uuid.uuid5(NAMESPACE, f"workflow:archive:{i}")),
            ids.PROJECT_ARCHIVE,
            f"Field survey {i:03d}",
            f"Archived field survey number {i}.",
            USER_ARCHIVIST,
            _at(30 + i * 0.5),
            _at(30 + i * 0.5),
            _chain(("Scene fetch", "Scene fetch", 6.0, 10), ("NDVI", "NDVI", 4.0, 5)),
        )
        for i in range(1, 121)
    )


@cache
def workflows() -> dict[str, WorkflowDef]:
    return {wf.id: wf for wf in (*_MAIN_WORKFLOWS, *_archive_workflows())}


@cache
def projects() -> dict[str, ProjectDef]:
    return {p.id: p for p in PROJECTS}
