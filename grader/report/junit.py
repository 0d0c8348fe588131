"""JUnit XML: one <testsuite> per exercise, points in <properties> (as pytest's junitxml does)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.engine.data import GradeReport, Status


def render(report: GradeReport) -> str:
    root = ET.Element(
        "testsuites",
        name="grader",
        tests=str(sum(len(e.tests) for e in report.exercises)),
        time=f"{report.duration:.3f}",
    )
    props = ET.SubElement(root, "properties")
    ET.SubElement(props, "property", name="points", value=f"{report.points:g}")
    ET.SubElement(props, "property", name="max_points", value=f"{report.max_points:g}")
    ET.SubElement(props, "property", name="isolation", value=report.isolation)
    for e in report.exercises:
        count = {s: sum(t.status is s for t in e.tests) for s in Status}
        suite = ET.SubElement(
            root,
            "testsuite",
            name=e.key,
            tests=str(len(e.tests)),
            failures=str(count[Status.FAILED]),
            errors=str(count[Status.ERROR] + count[Status.TIMEOUT] + count[Status.GRADER_ERROR]),
            skipped=str(count[Status.NOT_ATTEMPTED] + count[Status.PENDING]),
            time=f"{e.duration:.3f}",
        )
        sp = ET.SubElement(suite, "properties")
        ET.SubElement(sp, "property", name="points", value=f"{e.points:g}")
        ET.SubElement(sp, "property", name="max_points", value=f"{e.max_points:g}")
        ET.SubElement(sp, "property", name="file", value=f"{e.stage}/{e.file}")
        for t in e.tests:
            case = ET.SubElement(suite, "testcase", classname=e.key, name=t.name, time=f"{t.duration:.3f}")
            cp = ET.SubElement(case, "properties")
            ET.SubElement(cp, "property", name="points", value=f"{t.points:g}")
            ET.SubElement(cp, "property", name="max_points", value=f"{t.max_points:g}")
            if t.seed is not None:
                ET.SubElement(cp, "property", name="seed", value=str(t.seed))
            first = t.message.splitlines()[0] if t.message else t.status.value
            if t.status is Status.FAILED:
                ET.SubElement(case, "failure", message=first).text = t.message
            elif t.status in (Status.ERROR, Status.TIMEOUT, Status.GRADER_ERROR):
                ET.SubElement(case, "error", type=t.status.value, message=first).text = t.message
            elif t.status is Status.NOT_ATTEMPTED:
                ET.SubElement(case, "skipped", message="not attempted")
            elif t.status is Status.PENDING:
                ET.SubElement(case, "skipped", message="pending: graded by the instructor").text = t.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
