"""Every chart and picture the app shows, built from the numbers `dnnlab` computes.

Pages only place what these functions return: RGB pictures (numpy uint8 arrays), SVG
text, Altair charts or Vega-Lite dicts. One submodule per page's concern, all reached
as `charts.<name>`:

- `style`: colour maps, preset colours, sizes, and `for_projector`'s fonts
- `pictures`: pictures from numbers (weights, feature maps, digits, RDMs) and data URLs
- `model`: the Model page's layer table, diagram, unit bars and tuning maps
- `training`: the live training chart
- `draw`: the Draw page's probabilities, occlusion maps and invariance curves
- `experiments`: the Experiments page's staircase, curves, confusion, RSA, lesions and
  models compared as participants
- `room`: the Room page's projector charts (reached as `charts.room`)
"""

from dnnlab.charts.draw import invariance_chart, occlusion_spec, probability_spec
from dnnlab.charts.experiments import (
    confusion_chart,
    curve_chart,
    embedding_chart,
    mds_chart,
    per_class_chart,
    rsa_chart,
    seed_ceiling_chart,
    similarity_matrix_chart,
    staircase_chart,
    unit_lesion_chart,
)
from dnnlab.charts.model import (
    activation_name,
    activation_pictures,
    diagram_svg,
    layer_table,
    pixel_scaling,
    tuning_chart,
    unit_bars,
)
from dnnlab.charts.pictures import (
    LIVE_MAP_PX,
    Picture,
    colourise,
    digit_pictures,
    enlarge,
    input_picture,
    live_layer_pictures,
    montage,
    picture,
    png_data_url,
    rdm_image,
    shape_label,
    top_image_pictures,
    weight_pictures,
)
from dnnlab.charts.style import (
    DIVERGING,
    GREYS,
    PRESET_COLOURS,
    TALK_PRESETS,
    for_projector,
    preset_scale,
)
from dnnlab.charts.training import LIVE_HEIGHT, accuracy_floor, best_epoch, curves, live_specs

__all__ = [
    "DIVERGING",
    "GREYS",
    "LIVE_HEIGHT",
    "LIVE_MAP_PX",
    "PRESET_COLOURS",
    "TALK_PRESETS",
    "Picture",
    "accuracy_floor",
    "activation_name",
    "activation_pictures",
    "best_epoch",
    "colourise",
    "confusion_chart",
    "curve_chart",
    "curves",
    "embedding_chart",
    "diagram_svg",
    "digit_pictures",
    "enlarge",
    "for_projector",
    "input_picture",
    "invariance_chart",
    "layer_table",
    "live_layer_pictures",
    "live_specs",
    "mds_chart",
    "montage",
    "occlusion_spec",
    "per_class_chart",
    "picture",
    "pixel_scaling",
    "png_data_url",
    "preset_scale",
    "probability_spec",
    "rdm_image",
    "rsa_chart",
    "seed_ceiling_chart",
    "shape_label",
    "similarity_matrix_chart",
    "staircase_chart",
    "top_image_pictures",
    "tuning_chart",
    "unit_bars",
    "unit_lesion_chart",
    "weight_pictures",
]
