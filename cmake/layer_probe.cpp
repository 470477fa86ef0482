// Linked against one layer's whole library and the layers below it (cmake/layers.cmake): the
// link succeeds only if nothing in the layer needs a symbol defined above it. Never run.
int main() { return 0; }
