"""The panel's "Teach the model your scanner" section: the user's training cases and "Adapt model".

"Add to my training cases" saves the input volume with its corrected segmentation into the user cases folder
(discmrml.training_cases); "Adapt model" runs ``disccore adapt`` on them out of process, with the panel's progress bar
and Cancel, and the new model then appears (and is selected) in the model selector.
"""

import slicer


class TeachModelSection:
    """Handlers of the section; ``widget`` is the DiscSegmenterWidget (its ui, logic, parameter node, timer)."""

    def __init__(self, widget) -> None:
        self.widget = widget
        self.ui = widget.ui
        self.process = None  # the running 'disccore adapt' (discmrml.runner.ModelProcess)
        self.adaptedName = ""
        self.ui.addTrainingCaseButton.connect("clicked(bool)", self.onAddTrainingCase)
        self.ui.removeTrainingCaseButton.connect("clicked(bool)", self.onRemoveTrainingCase)
        self.ui.adaptButton.connect("clicked(bool)", self.onAdaptButton)

    @property
    def running(self) -> bool:
        return self.process is not None

    def updateButtons(self, parameterNode, busy: bool) -> None:
        p = parameterNode
        self.ui.addTrainingCaseButton.enabled = bool(p and p.inputVolume and p.outputSegmentation) and not busy
        self.ui.adaptButton.enabled = self.ui.trainingCasesList.count > 0 and not busy

    def refresh(self) -> None:
        try:
            folder, names = self.widget.logic.trainingCases()
        except Exception as exc:  # e.g. an unpaired file in the folder: say so, keep the panel usable
            folder, names = "the user cases folder", []
            self.ui.statusLabel.text = f"Training cases: {exc}"
        self.ui.trainingCasesList.clear()
        for name in names:
            self.ui.trainingCasesList.addItem(name)
        self.ui.trainingCasesLabel.text = f"My training cases ({len(names)}), in {folder}:"
        self.widget.updateGUI()

    def onAddTrainingCase(self) -> None:
        p = self.widget.parameterNode()
        with slicer.util.tryWithErrorDisplay("Could not save the training case.", waitCursor=True):
            path = self.widget.logic.addTrainingCase(p.inputVolume, p.outputSegmentation)
            self.ui.statusLabel.text = f"Saved the training case {path.name} (with its segmentation)."
        self.refresh()

    def onRemoveTrainingCase(self) -> None:
        item = self.ui.trainingCasesList.currentItem()
        if item is None:
            self.ui.statusLabel.text = "Select the training case to remove."
            return
        question = f"Delete the training case '{item.text()}' (its image and segmentation files)?"
        if not slicer.util.confirmOkCancelDisplay(question, "Remove training case"):
            return
        with slicer.util.tryWithErrorDisplay("Could not remove the training case.", waitCursor=True):
            self.widget.logic.removeTrainingCase(item.text())
        self.refresh()

    def onAdaptButton(self) -> None:
        p = self.widget.parameterNode()
        name = self.ui.adaptedModelNameLineEdit.text.strip()
        with slicer.util.tryWithErrorDisplay("Could not start the adaptation.", waitCursor=False):
            if not self.widget.logic.ensurePackages(p.device, ask=True, training=True):
                self.ui.statusLabel.text = "Python packages training needs are missing; adaptation not started."
                return
            self.widget.startProgress(f"Adapting {p.model} to your training cases (minutes on a CPU)...")
            self.process = self.widget.logic.startAdaptation(name, parent=p.model, progress=self.widget.onProgress)
            self.adaptedName = name
            self.widget.setRunning(True)

    def poll(self) -> bool:
        """Called by the panel's timer: False when no adaptation runs; finishes it when the process has ended."""
        if self.process is None:
            return False
        code = self.process.poll()
        if code is None:
            return True
        process, self.process = self.process, None
        self.ui.statusLabel.text = "Adaptation failed; see the message."
        try:
            with slicer.util.tryWithErrorDisplay("Adaptation failed.", waitCursor=False):
                process.raise_for_status(code)
                self.widget.populateModels()
                self.widget.parameterNode().model = self.adaptedName
                self.ui.statusLabel.text = (
                    f"The adapted model '{self.adaptedName}' is ready and selected; its "
                    "validation is in its model card (disccore models)."
                )
        finally:
            self.widget.setRunning(False)
        return True

    def cancel(self) -> bool:
        """Stop a running adaptation (no model is written); False when none runs."""
        if self.process is None:
            return False
        process, self.process = self.process, None
        process.cancel()
        self.ui.statusLabel.text = "Cancelled; no model was written."
        self.widget.setRunning(False)
        return True
