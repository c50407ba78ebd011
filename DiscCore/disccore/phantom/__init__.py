"""Synthetic lumbar MRI phantoms whose ground truth is exact by construction.

The anatomy is built in continuous physical space (**LPS** millimetres: +x left, +y posterior,
+z superior) and only then sampled onto a voxel grid of any spacing and direction matrix. Every
structure is an analytic shape, so the measurements defined in docs/measurements.md have closed
forms that are reported in :attr:`Phantom.truth`.

Geometry (all in the mid-sagittal plane x = 0; lateral is +x):

* **Vertebral body** ``k``: an elliptic cylinder along its own unit axis ``w_k`` (pointing
  superior), centred at ``B_k``, AP semi-axis ``A_k``, lateral semi-axis ``W_k``, height ``H_k``
  between two parallel endplates perpendicular to ``w_k``. Its centroid is exactly ``B_k``. A dark
  cortical rim (1.2 mm) surrounds the marrow; pedicles, laminae and a spinous process are drawn in
  the image but are not labelled (the vertebra labels hold the vertebral body only). A body with a wedge fracture
  (``fractures``) has tilted endplates instead, its height falling linearly from ``H_k`` at the back to the lost share
  at the front; its ellipse is drawn forward so that its centroid is still ``B_k``, and the spine above it turns
  forward by its wedge (the sacrum keeps its place). ``body_dims`` ({vertebra: (A, W, H)}) replaces the adult sizes.
* **Sacrum** (``sacrum_segments``, below an S1 at the bottom): 1-3 smaller sacral bodies (S2 down), unlabelled (the
  scheme labels S1 only), each fused to the one above across a 1 mm rudimentary disc. A ``{"S1-S2": ...}`` entry in
  ``disc_heights`` / ``disc_wedges_deg`` / ``degeneration`` makes that junction a real disc: with ``body_dims`` giving
  S1 a lumbar body's size, a lumbarised S1 (six lumbar-like bodies above the sacrum). The labelled anatomy and its
  place in the grid are the same with or without the sacrum.
* **Disc** ``i`` between bodies ``i`` (above) and ``i + 1`` (below): its axis ``u_i`` is the unit
  vector from ``B_{i+1}`` to ``B_i`` (so the local spine axis of docs/measurements.md, centroid of the body
  above to the body below, is ``u_i`` *exactly*). In the disc frame (centre ``c_i`` on that axis,
  ``t`` anterior along ``a_i``, ``l`` left, ``s`` along ``u_i``) the disc is the elliptic cylinder
  ``(t/A)^2 + (l/W)^2 <= 1`` cut by the two endplates ``|s| <= h_mid/2 + t*tan(wedge/2)``; the
  endplates are the adjacent bodies' endplates (body ``i`` is tilted by ``-wedge/2``, body
  ``i + 1`` by ``+wedge/2`` about the lateral axis). All lordosis lives in the disc wedges.
  Consequently, on the footprint (the ellipse, the disc's projection along ``u_i``) the height is
  ``h(t) = h_mid + 2 t tan(wedge/2)``: linear in the AP coordinate and symmetric about the
  footprint centre, so the mean and the median over any centred part of the footprint (e.g. the
  central 80 %) are both ``h_mid``, and the volume is ``pi * A * W * h_mid``. ``u_i`` is also an exact
  principal axis of the disc (its thinnest), so the "no vertebrae" fallback gives the same axis.
* **Canal**: a CSF tube behind the column, piecewise straight: within the segment of disc ``i``
  (between mitre planes through ``B_i`` and ``B_{i+1}``) it is an elliptic cylinder along ``u_i``
  centred at ``t = -D`` (``D`` the same for all levels, so segments meet exactly) with lateral
  semi-axis ``canal_width/2`` and AP semi-axis ``R(s)`` that equals ``canal_ap/2`` in the disc's
  mid-plane ``s = 0`` and relaxes smoothly to ``canal_body_ap/2`` away from it. The canal
  cross-section in the plane perpendicular to ``u_i`` through the disc centre is therefore exactly an
  ellipse with AP diameter ``canal_ap`` and area ``pi/4 * canal_ap * canal_width``, centred on the
  disc's AP line (so "disc centre -> canal centre" is exactly ``-a_i``). Optional: a layer of roots along its
  posterior wall (inside the label) and a dark dura of a given thickness around it (outside the label).
* Background (unlabelled): soft tissue, paraspinal muscles, subcutaneous fat and the air behind the
  back follow the canal's centreline; epidural fat, posterior longitudinal ligament, aorta and IVC.

Sampling: labels are the continuous shapes evaluated at voxel centres (no partial volume); the
image averages ``supersample`` positions across the thick slice axis (partial volume of thick
slices), then adds a smooth tissue texture, a slight in-plane blur, a smooth multiplicative bias
field and Rician noise. The anatomy is fixed by the geometric parameters; ``seed`` drives only the
texture, the nucleus signal, the bias field and the noise, so two grids with the same anatomy
parameters show the same anatomy in LPS.

Modules: :mod:`.tissues` (classes, intensities), :mod:`.shapes` (the anatomy as functions of local coordinates),
:mod:`.model` (the continuous spine), :mod:`.spine` (building it from parameters), :mod:`.synthesis` (sampling on a
grid), :mod:`.truth` (closed-form ground truth), :mod:`.makers` (the phantoms to ask for).
"""

from .makers import Phantom, make_disc_phantom, make_lumbar_phantom
from .model import SpineFrame, SpineModel
from .spine import CANAL_GAP_MM, Number, PerLevel
from .tissues import CORTEX_MM, INTENSITIES, N_CLASSES, TEXTURE
from .truth import TRUTH_DEFINITIONS, truth_lines_ras

__all__ = [
    "CANAL_GAP_MM",
    "CORTEX_MM",
    "INTENSITIES",
    "N_CLASSES",
    "TEXTURE",
    "TRUTH_DEFINITIONS",
    "Number",
    "PerLevel",
    "Phantom",
    "SpineFrame",
    "SpineModel",
    "make_disc_phantom",
    "make_lumbar_phantom",
    "truth_lines_ras",
]
