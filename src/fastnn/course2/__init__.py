"""The second course, *Improving Deep Neural Networks*, as a drop-in: one module per notebook,
with the notebook's function names, signatures, return values and printed messages.

- ``fastnn.course2.initialization``: the Initialization notebook and its ``init_utils``; its
  ``model`` trains in the compiled engine.
- ``fastnn.course2.regularization``: the Regularization notebook and its ``reg_utils`` (L2 and
  the course's dropout); its ``model`` trains in the compiled engine with L2, and runs the
  notebook's numpy loop with dropout (its masks are reseeded at every call).
- ``fastnn.course2.gradient_checking``: the Gradient Checking notebook and its ``gc_utils``
  (``from fastnn.course2.gradient_checking import *``).
- ``fastnn.course2.optimization``: the Optimization Methods notebook and its ``opt_utils``; its
  ``model`` trains in the compiled engine.

Its names collide with the first course's (``fastnn.functional``), as the notebooks' own helper
modules do, so each notebook's functions live in their own module. For any fastnn model,
``fastnn.gradcheck`` runs the same check on the compiled engine.
"""
