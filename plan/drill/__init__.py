"""After-action evaluation of a drill (演练评估), as the drills notice (郑安委办〔2017〕43号 四)
asks for it: 应急响应程序, 应急信息处置, 应急预案衔接, 应急力量调动, 部门应急协调, 应急抢险救援 —
measured, not graded by hand — ending with 整改意见和建议 for the weak points found.

`evaluate(status)` takes an incident's status (the workflow's `status` query, as JSON) and
returns figures: stage durations against the plan's stage expectations, the information
reports against the initial-report deadline, how the bureau's plan meshed with the others
(the city government's plan, the county's, province's and ministry's acts at the level, the
fire brigade's linkage), mobilisation times and the groups sent, sign-off rounds with
rejections and opinions, the on-site rescue and disposal, every deadline with how late it
was met, level changes, findings in plain sentences by area and a recommendation for each.
`render_markdown` prints it for people, marked 演练 at the top.

Pure domain code: the only reads are the incident's plan file (plan.loader) and the
working-day calendar (plan.calendar), both this package's own data. Works on any
incident's status (a real one too); the CLI only offers it for drills.

Modules: common (names, helpers, the plan behind the incident), areas (the six areas,
deadlines, level changes), findings (weak points and advice), evaluation (evaluate),
markdown (render_markdown).
"""

from plan.drill.common import AREAS, STAGE_NAMES
from plan.drill.evaluation import evaluate
from plan.drill.markdown import render_markdown

__all__ = ["evaluate", "render_markdown", "STAGE_NAMES", "AREAS"]
