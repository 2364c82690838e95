#include "proxy/net/listener_options.h"

namespace mxguard::net {

int set_client_socket_options(uv_tcp_t* listener) {
  int rc = uv_tcp_nodelay(listener, 1);
  if (rc != 0) return rc;
  int bytes = kClientSendBufferBytes;
  return uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(listener), &bytes);
}

}  // namespace mxguard::net
