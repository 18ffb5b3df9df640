"""File and Directory values passed between tasks."""

import os
import tempfile

from slipstream import Directory, File, task, workflow


@task
def write_lines(n: int) -> File:
    path = os.path.join(tempfile.mkdtemp(prefix="slipstream-"), "lines.txt")
    with open(path, "w") as f:
        f.writelines(f"line {i}\n" for i in range(n))
    return File(path)


@task
def count_lines(f: File) -> int:
    with f.open() as handle:
        return sum(1 for _ in handle)


@task
def split(f: File, parts: int) -> Directory:
    out = tempfile.mkdtemp(prefix="slipstream-")
    with f.open() as handle:
        lines = handle.readlines()
    for p in range(parts):
        with open(os.path.join(out, f"part-{p}.txt"), "w") as w:
            w.writelines(lines[p::parts])
    return Directory(out)


@task
def count_files(d: Directory) -> int:
    return len(d.files())


@workflow
def file_flow(n: int = 10, parts: int = 3) -> tuple[int, int]:
    f = write_lines(n=n)
    return count_lines(f=f), count_files(d=split(f=f, parts=parts))
