"""Tests against independent autodiff libraries (HIPS autograd; torch when installed)."""
