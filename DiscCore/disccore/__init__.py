"""disccore: the headless logic of the lumbar disc extension.

Pure Python on numpy, scipy and SimpleITK. Importing it is cheap: torch and MONAI are
imported only inside the functions that run the model. Never imports slicer, qt, vtk or ctk.
"""

__version__ = "0.1.0"
