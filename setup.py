"""Build hook: the wheel carries the top-level ``datasets.yaml`` as package data.

``datasets.yaml`` stays at the repository root, where users read and edit it; at build time it is
copied to ``fawmf_bench/data/datasets.yaml`` inside the built package (never into the source
tree, so there is no second copy to drift). An editable install reads the top-level file
(``fawmf_bench.data.registry``); tests/data/test_registry.py checks that a built package's copy
is byte-identical to it.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REGISTRY = Path(__file__).resolve().parent / "datasets.yaml"


class BuildWithRegistry(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "fawmf_bench" / "data" / "datasets.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REGISTRY, target)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs.append(str(Path(self.build_lib) / "fawmf_bench" / "data" / "datasets.yaml"))
        return outputs


setup(cmdclass={"build_py": BuildWithRegistry})
