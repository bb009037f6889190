"""The launch plan of the demo data: PPAP-style milestones in plan order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Milestone:
    """One milestone of the launch plan, placed at ``phase`` (0 = start, 1 = SOP)."""

    key: str
    name: str
    description: str
    phase: float
    after: tuple[str, ...] = ()
    capability: str | None = None
    core: bool = False  # in every plan, even the small ones that take a subset


def _ppap(number: int, name: str, description: str, phase: float, *after: str) -> Milestone:
    return Milestone(
        f"ppap{number:02d}", f"PPAP {number}: {name}", description, phase, after or ("fai",)
    )


# In plan order. Every prerequisite comes earlier in the list and at least ~0.04 of the
# window earlier, so that the 14-day gap the generator enforces rarely has to push a date.
MILESTONES: tuple[Milestone, ...] = (
    Milestone(
        "kickoff",
        "Supplier kick-off meeting",
        "Scope, timing and contacts agreed.",
        0.04,
        core=True,
    ),
    Milestone(
        "feasibility",
        "Team feasibility commitment",
        "Signed feasibility for design, process and capacity.",
        0.09,
        ("kickoff",),
    ),
    Milestone(
        "quality_agreement",
        "Supplier quality agreement signed",
        "Quality agreement and customer-specific requirements acknowledged.",
        0.10,
        ("kickoff",),
    ),
    Milestone(
        "tooling_kickoff",
        "Tooling kick-off",
        "Tool design released, steel ordered.",
        0.15,
        ("feasibility",),
        core=True,
    ),
    Milestone(
        "mold_flow",
        "Mold flow analysis",
        "Fill, pack and warp simulation reviewed.",
        0.20,
        ("tooling_kickoff",),
        "injection_molding",
    ),
    Milestone(
        "die_design",
        "Stamping die design review",
        "Strip layout and die design approved.",
        0.20,
        ("tooling_kickoff",),
        "stamping",
    ),
    Milestone(
        "casting_simulation",
        "Casting simulation and gating design",
        "Solidification simulation and gating approved.",
        0.20,
        ("tooling_kickoff",),
        "die_casting",
    ),
    Milestone(
        "pcb_dfm",
        "PCB layout and DFM review",
        "Panelisation, footprints and test points reviewed.",
        0.20,
        ("tooling_kickoff",),
        "pcb_assembly",
    ),
    Milestone(
        "tooling_complete",
        "Tooling complete (T0)",
        "Tools built and first shots taken.",
        0.30,
        ("tooling_kickoff", "mold_flow", "die_design", "casting_simulation", "pcb_dfm"),
        core=True,
    ),
    Milestone(
        "off_tool_samples",
        "Off-tool samples (OTS)",
        "Parts from production tooling delivered for evaluation.",
        0.37,
        ("tooling_complete",),
        core=True,
    ),
    Milestone(
        "fai",
        "First article inspection (FAI)",
        "Full layout of the first production-intent parts.",
        0.44,
        ("off_tool_samples",),
        core=True,
    ),
    _ppap(1, "Design records", "Released drawings and specifications of the part.", 0.50),
    _ppap(2, "Engineering change documents", "Authorised changes not yet in the drawing.", 0.50),
    _ppap(3, "Customer engineering approval", "Engineering sign-off of the part.", 0.56, "ppap01"),
    _ppap(4, "Design FMEA", "Design failure modes and their controls.", 0.50),
    _ppap(5, "Process flow diagram", "Every step of the manufacturing process.", 0.50),
    _ppap(
        6, "Process FMEA", "Process failure modes, ratings and actions.", 0.56, "ppap04", "ppap05"
    ),
    _ppap(
        7, "Control plan", "Controls and reaction plans for every characteristic.", 0.62, "ppap06"
    ),
    _ppap(8, "Measurement system analysis (MSA) studies", "Gauge R&R and attribute studies.", 0.56),
    _ppap(9, "Dimensional results", "Layout of every dimension on the drawing.", 0.62, "ppap08"),
    _ppap(
        10, "Material and performance test results", "Material certificates and DV/PV tests.", 0.62
    ),
    _ppap(
        11,
        "Initial process studies",
        "Cpk/Ppk of the special characteristics.",
        0.68,
        "ppap07",
        "ppap08",
    ),
    _ppap(12, "Qualified laboratory documentation", "Accreditation of the labs used.", 0.50),
    _ppap(13, "Appearance approval report", "Colour, grain and gloss approved.", 0.62),
    _ppap(14, "Sample production parts", "Parts from the production run.", 0.62),
    _ppap(15, "Master sample", "Signed master sample retained.", 0.68, "ppap14"),
    _ppap(16, "Checking aids", "Fixtures and gauges with their certificates.", 0.56),
    _ppap(17, "Customer-specific requirements", "Evidence of every customer requirement.", 0.62),
    Milestone(
        "pcb_ict",
        "PCB in-circuit test coverage report",
        "ICT and AOI coverage of the assembly.",
        0.62,
        ("fai",),
        "pcb_assembly",
        core=True,  # every plan has at least one capability-specific milestone
    ),
    Milestone(
        "harness_test",
        "Wire harness continuity and pull-test report",
        "Electrical test and crimp pull forces.",
        0.62,
        ("fai",),
        "wire_harness",
    ),
    Milestone(
        "paint_adhesion",
        "Paint adhesion and colour match approval",
        "Cross-hatch, salt spray and colour measurement.",
        0.62,
        ("fai",),
        "painting",
    ),
    Milestone(
        "casting_xray",
        "Casting porosity X-ray report",
        "Porosity levels against the casting specification.",
        0.62,
        ("fai",),
        "die_casting",
    ),
    Milestone(
        "subtier_ppap",
        "Sub-tier supplier PPAP",
        "Approvals of the supplier's suppliers.",
        0.68,
        ("fai",),
    ),
    Milestone(
        "packaging",
        "Packaging and labelling approval",
        "Returnable packaging and labels.",
        0.70,
        ("ppap14",),
    ),
    Milestone(
        "psw",
        "PPAP 18: Part submission warrant (PSW)",
        "The warrant that closes the PPAP submission.",
        0.76,
        (
            *(f"ppap{n:02d}" for n in range(1, 18)),
            *("pcb_ict", "harness_test", "paint_adhesion", "casting_xray", "subtier_ppap"),
        ),
        core=True,
    ),
    Milestone(
        "run_at_rate",
        "Run-at-rate",
        "Production at quoted rate on production tooling.",
        0.82,
        ("psw",),
        core=True,
    ),
    Milestone(
        "capacity",
        "Capacity verification",
        "Demonstrated capacity for peak volume.",
        0.88,
        ("run_at_rate",),
    ),
    Milestone(
        "logistics_trial",
        "Logistics and packaging trial",
        "Shipments through the line.",
        0.88,
        ("packaging", "run_at_rate"),
    ),
    Milestone(
        "safe_launch",
        "Safe launch plan (GP-12) approved",
        "Early production containment in place.",
        0.89,
        ("ppap07", "run_at_rate"),
    ),
    Milestone(
        "sop_readiness",
        "SOP readiness review",
        "Go for start of production.",
        0.96,
        ("capacity", "logistics_trial", "safe_launch"),
        core=True,
    ),
)
