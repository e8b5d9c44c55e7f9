"""``python -m responserank.synthetic.reproduction``: the reproduction report (see
:mod:`responserank.synthetic.analysis.reproduction`, where the code lives)."""

from responserank.synthetic.analysis.reproduction import main

if __name__ == "__main__":
    raise SystemExit(main())
