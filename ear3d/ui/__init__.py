"""On-screen controls (Dear ImGui through imgui-bundle and moderngl-window's integration).

:class:`ear3d.ui.gui.Gui` draws the panels over the scene; each panel in ``ear3d.ui.panels``
is a function of the parameter registry and an :class:`ear3d.ui.state.AppState` snapshot
that appends :class:`ear3d.messages.Command` objects; the Gui hands them to ``app.command``.
Widgets are generated from the registry's specs (``ear3d.ui.widgets``), so a new parameter
appears in its group's panel without GUI code.
"""
