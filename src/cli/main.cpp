// compress: the lwm command line. (Sub-commands are wired in as they land.)
#include <iostream>

int main() {
  std::cerr << "compress: not built yet\n";
  return 1;
}
