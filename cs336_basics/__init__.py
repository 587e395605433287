"""Reference solution of the build-a-language-model-from-scratch assignment."""
