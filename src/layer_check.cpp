// Linked with one layer's whole archive and only the layers it declares: an unresolved symbol here
// means that layer calls into a layer above it or beside it (see CMakeLists.txt).
int main() { return 0; }
