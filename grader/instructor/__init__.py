"""The instructor's and course author's tools: assign (stubs from solutions), Colab cells, batch grading."""
