"""A stand-in for ``python -m disccore segment IN -o OUT --device D [--model M]`` in tests.

Invoked as ``python fake_disccore_segment.py -m disccore segment IN -o OUT ...`` (the runner's command
with this script as the "python"). Its "model" returns the input's intensities as labels, so a test
volume whose voxels hold scheme label values comes back as exactly that label map. It writes a
.seg.nrrd with slicerio (an independent writer), and prints progress like the disccore progress bar.

Environment knobs: FAKE_SEGMENT_RECORD=path (write argv as JSON), FAKE_SEGMENT_SLEEP=seconds (after
starting a grandchild ``sleep`` whose pid goes to FAKE_SEGMENT_CHILD_PID=path), FAKE_SEGMENT_FAIL=
"code:message" (fail like disccore does), FAKE_SEGMENT_QC=JSON text (written as the quality report OUT.qc.json).
"""

import json
import os
import subprocess
import sys
import time


def main(argv):
    if argv[:2] != ["-m", "disccore"] or argv[2] != "segment":
        print(f"fake: unexpected command {argv}", file=sys.stderr)
        return 2
    args = argv[3:]
    image, output = args[0], args[args.index("-o") + 1]
    if os.environ.get("FAKE_SEGMENT_RECORD"):
        with open(os.environ["FAKE_SEGMENT_RECORD"], "w") as f:
            json.dump(argv, f)
    print("segment [........]   0.0%    0.0s loading the model", file=sys.stderr, flush=True)
    if os.environ.get("FAKE_SEGMENT_FAIL"):
        code, message = os.environ["FAKE_SEGMENT_FAIL"].split(":", 1)
        print(f"disccore segment: error: {message}", file=sys.stderr, flush=True)
        return int(code)
    if os.environ.get("FAKE_SEGMENT_SLEEP"):
        child = subprocess.Popen(["sleep", "60"])
        if os.environ.get("FAKE_SEGMENT_CHILD_PID"):
            with open(os.environ["FAKE_SEGMENT_CHILD_PID"], "w") as f:
                f.write(str(child.pid))
        print("segment [##......]  25.0%    0.1s running the model", file=sys.stderr, flush=True)
        time.sleep(float(os.environ["FAKE_SEGMENT_SLEEP"]))

    import numpy as np
    import SimpleITK as sitk
    import slicerio

    img = sitk.ReadImage(image)
    labels = np.rint(sitk.GetArrayFromImage(img).transpose(2, 1, 0)).astype(np.int16)
    ijk_to_lps = np.eye(4)
    ijk_to_lps[:3, :3] = np.array(img.GetDirection()).reshape(3, 3) * np.array(img.GetSpacing())[None, :]
    ijk_to_lps[:3, 3] = img.GetOrigin()
    print("segment [######..]  75.0%    0.2s writing", file=sys.stderr, flush=True)
    names = {
        18: "T11",
        19: "T12",
        20: "L1",
        21: "L2",
        22: "L3",
        23: "L4",
        24: "L5",
        26: "S1",
        118: "T11-T12",
        119: "T12-L1",
        120: "L1-L2",
        121: "L2-L3",
        122: "L3-L4",
        123: "L4-L5",
        124: "L5-S1",
        201: "canal",
    }
    seg = slicerio.create_segmentation(labels.shape, ijk_to_lps)
    for value in sorted(int(v) for v in np.unique(labels) if v in names):
        slicerio.add_segment(seg, labels == value, {"id": names[value], "name": names[value], "color": [0.5, 0.5, 0.5]})
    slicerio.write_segmentation(output, seg)
    if os.environ.get("FAKE_SEGMENT_QC"):  # the quality report disccore segment writes beside its output
        with open(output[: -len(".seg.nrrd")] + ".qc.json", "w") as f:
            f.write(os.environ["FAKE_SEGMENT_QC"])
    print("segment [########] 100.0%    0.3s done", file=sys.stderr, flush=True)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
