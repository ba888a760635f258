# modxen's C modules for MicroPython's cmake-based ports (zephyr). Only
# INTERFACE sources and include directories are honoured there; global
# switches live in the port's configuration (port/zephyr).
add_library(usermod_xen INTERFACE)
target_sources(usermod_xen INTERFACE
    # _xen: the binding, one file per hypercall family, and the backend
    ${CMAKE_CURRENT_LIST_DIR}/modxen.c
    ${CMAKE_CURRENT_LIST_DIR}/xenerrno.c
    ${CMAKE_CURRENT_LIST_DIR}/abi.c
    ${CMAKE_CURRENT_LIST_DIR}/domctl.c
    ${CMAKE_CURRENT_LIST_DIR}/sysctl.c
    ${CMAKE_CURRENT_LIST_DIR}/memory.c
    ${CMAKE_CURRENT_LIST_DIR}/evtchn.c
    ${CMAKE_CURRENT_LIST_DIR}/flask.c
    ${CMAKE_CURRENT_LIST_DIR}/backends/zephyr.c
    ${CMAKE_CURRENT_LIST_DIR}/backends/xen_dtb.c
    # _xenboard: the board's REPL, console input and a soft reset that keeps
    # dom0 services
    ${CMAKE_CURRENT_LIST_DIR}/board/zephyr.c
    ${CMAKE_CURRENT_LIST_DIR}/board/repl.c
    # _xenring (guest byte rings) and _xsframe (xenstore wire framing)
    ${CMAKE_CURRENT_LIST_DIR}/ring.c
    ${CMAKE_CURRENT_LIST_DIR}/xsframe.c
)
# _es256, boot-policy signatures: verify.c is compiled in; the port's
# configuration must define MODXEN_VERIFY=1 (and MODXEN_POLICY_ANCHORS_H) and
# enable Zephyr's mbedTLS (CONFIG_MBEDTLS, ECDSA + ECP_DP_SECP256R1 + SHA256).
target_sources(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR}/verify.c)
target_include_directories(usermod_xen INTERFACE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(usermod INTERFACE usermod_xen)
