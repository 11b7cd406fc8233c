import pytest
from loopback import LoopbackCluster


@pytest.fixture
def cluster3(tmp_path):
    c = LoopbackCluster(tmp_path, 3)
    try:
        yield c.start_all()
    finally:
        c.stop_all()
