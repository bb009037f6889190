"""Names, reasons and status paths the demo data is made of."""

from __future__ import annotations

from supplytrack.tasks.enums import TaskStatus

# (code prefix, program name)
PROGRAMS: tuple[tuple[str, str], ...] = (
    ("EV", "Compact EV platform"),
    ("SUV", "Mid-size SUV refresh"),
    ("EDU", "Electric drive unit gen 3"),
    ("BAT", "800 V battery pack"),
    ("HP", "Heat pump module"),
    ("IVI", "Infotainment head unit"),
    ("ADAS", "Forward radar sensor pod"),
    ("TRK", "Heavy truck cab"),
    ("WM", "Front-loading washer line"),
    ("DW", "Dishwasher platform"),
    ("CT", "Cordless tool platform"),
    ("AG", "Compact tractor cab"),
    ("EB", "E-bike drive system"),
    ("HVAC", "Rooftop HVAC unit"),
    ("PHEV", "Plug-in hybrid crossover"),
    ("LCV", "Electric light commercial van"),
    ("CHG", "DC fast charger"),
    ("SEAT", "Seat structure module"),
    ("LMP", "LED headlamp module"),
    ("STR", "Steer-by-wire column"),
)
VARIANTS: tuple[str, ...] = ("", " facelift", " for North America", " export variant", " update")

# capability -> (weight as the main trade, words for company names)
CAPABILITIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "injection_molding": (22, ("Plastics", "Polymer", "Molding", "Injection Technik")),
    "machining": (18, ("Precision", "Machining", "CNC Works", "Turned Parts")),
    "stamping": (14, ("Stamping", "Metal Forming", "Pressworks")),
    "die_casting": (8, ("Die Casting", "Foundry", "Light Metals")),
    "pcb_assembly": (10, ("Electronics", "EMS", "Circuit Systems")),
    "wire_harness": (8, ("Harness Systems", "Cable", "Wiring")),
    "painting": (6, ("Coatings", "Surface Finishing", "Paint Systems")),
    "rubber_molding": (6, ("Rubber", "Elastomers", "Seals")),
    "glass": (3, ("Glass", "Glazing")),
    "fasteners": (5, ("Fasteners", "Bolt & Nut", "Fixings")),
}
NAME_PREFIXES: tuple[str, ...] = (
    "Apex",
    "Baltic",
    "Nordic",
    "Summit",
    "Keystone",
    "Meridian",
    "Pioneer",
    "Atlas",
    "Cobalt",
    "Vertex",
    "Sierra",
    "Harbor",
    "Granite",
    "Falcon",
    "Orion",
    "Delta",
    "Beacon",
    "Crescent",
    "Evergreen",
    "Frontier",
    "Lakeside",
    "Northstar",
    "Pacific",
    "Redwood",
    "Silverline",
    "Titan",
    "Union",
    "Vanguard",
    "Westbrook",
    "Zenith",
    "Alpine",
    "Bavaria",
    "Carpathia",
    "Danube",
    "Elbe",
    "Fjord",
    "Guangdong",
    "Hanse",
    "Iberia",
    "Jalisco",
    "Kyushu",
    "Lombardy",
    "Moravia",
    "Nuevo Leon",
    "Ontario",
    "Piedmont",
    "Queretaro",
    "Rhine",
    "Silesia",
    "Tatra",
    "Upland",
    "Valley",
    "Wessex",
    "Yangtze",
    "Zhejiang",
)
LEGAL_FORMS: tuple[str, ...] = (
    "GmbH",
    "Inc.",
    "Ltd.",
    "s.r.o.",
    "S.A. de C.V.",
    "Co., Ltd.",
    "S.p.A.",
    "Sp. z o.o.",
    "AB",
    "LLC",
    "KG",
    "S.A.",
)
CONTACT_ROLES: tuple[str, ...] = ("quality", "sqe", "ppap", "launch", "apqp")

REJECT_REASONS: tuple[str, ...] = (
    "Dimensional results out of tolerance on 3 characteristics; see layout report",
    "Cpk below 1.33 on a special characteristic",
    "PFMEA does not cover the failure modes of the DFMEA",
    "Material certificate does not match the drawing specification",
    "Control plan lacks a reaction plan for critical features",
    "Gauge R&R above 30 %",
    "Appearance: sink marks on a class A surface",
    "Incomplete submission: signatures missing",
)
BLOCK_REASONS: tuple[str, ...] = (
    "Waiting for customer drawing release (ECN pending)",
    "Resin supply shortage at a sub-tier supplier",
    "Tool damaged during trial; repair in progress",
    "Waiting for a customer-supplied gauge",
    "Laboratory capacity: test slot booked",
    "Export licence for tooling pending",
)
WAIVE_REASONS: tuple[str, ...] = (
    "Carry-over part: approved PPAP on file from the predecessor program",
    "Not applicable to this commodity (agreed with the customer SQE)",
    "Covered by the family PPAP of the same part family",
    "Customer deviation approved",
)
REOPEN_REASONS: tuple[str, ...] = (
    "Reopened: customer audit found a gap in the submission",
    "Reopened after an engineering change to the part",
)
# Both lists have MOVE_REASON_COUNT entries: the SQL picks one by a hash modulo that count.
MOVE_LATER_REASONS: tuple[str, ...] = (
    "Supplier requested an extension: tooling rework",
    "Engineering change pending (ECN)",
    "Capacity constraint at the supplier plant",
    "Sub-tier material delay",
    "Customer build schedule moved",
    "Gauge delivery delayed",
)
MOVE_EARLIER_REASONS: tuple[str, ...] = (
    "Pulled in to support the prototype build",
    "Supplier ahead of plan",
    "Aligned with the earlier pilot build",
    "Pulled in for the customer quality gate",
    "Pulled in: shared tooling with a sister program",
    "Early submission agreed at the design review",
)
MOVE_REASON_COUNT = len(MOVE_LATER_REASONS)
# The reason code of each move reason above, in the same order.
MOVE_LATER_CODES: tuple[str, ...] = (
    "TOOLING_DELAY",
    "ENGINEERING_CHANGE",
    "SUPPLIER_REQUEST",
    "MATERIAL_SHORTAGE",
    "CUSTOMER_CHANGE",
    "TOOLING_DELAY",
)
MOVE_EARLIER_CODES: tuple[str, ...] = (
    "CUSTOMER_CHANGE",
    "SUPPLIER_REQUEST",
    "PLAN_CHANGE",
    "CUSTOMER_CHANGE",
    "PLAN_CHANGE",
    "PLAN_CHANGE",
)

S = TaskStatus
IP, SUB, REJ, BLK = S.IN_PROGRESS, S.SUBMITTED, S.REJECTED, S.BLOCKED
PATH_BUCKETS = 100
# How an instance got to its status, from NOT_STARTED: (weight out of PATH_BUCKETS, the
# statuses it went through). Every move is one the status machine allows. Work still in
# progress or blocked was never submitted: its prerequisites may not be done yet.
PATHS: dict[TaskStatus, tuple[tuple[int, tuple[TaskStatus, ...]], ...]] = {
    S.NOT_STARTED: ((100, ()),),
    S.IN_PROGRESS: ((80, (IP,)), (20, (IP, BLK, IP))),
    S.SUBMITTED: ((75, (IP, SUB)), (15, (IP, SUB, REJ, SUB)), (10, (IP, SUB, REJ, IP, SUB))),
    S.APPROVED: (
        (68, (IP, SUB, S.APPROVED)),
        (15, (IP, SUB, REJ, IP, SUB, S.APPROVED)),
        (8, (IP, BLK, IP, SUB, S.APPROVED)),
        (6, (IP, SUB, REJ, SUB, S.APPROVED)),
        (3, (IP, SUB, S.APPROVED, IP, SUB, S.APPROVED)),  # reopened after approval
    ),
    S.REJECTED: ((82, (IP, SUB, REJ)), (18, (IP, SUB, REJ, IP, SUB, REJ))),
    S.BLOCKED: ((55, (IP, BLK)), (45, (BLK,))),
    S.WAIVED: ((45, (S.WAIVED,)), (40, (IP, S.WAIVED)), (15, (IP, BLK, S.WAIVED))),
}
