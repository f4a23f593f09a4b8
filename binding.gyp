# The host device's native runtime (native/host) and, on macOS, the Metal addon
# (native/metal/metal.gypi). npm's install script runs native/host/build.mjs.
{
  "includes": ["native/metal/metal.gypi"],
  "targets": [
    {
      "target_name": "smelt_host",
      "sources": [
        "native/host/addon.cc",
        "native/host/faults.cc",
        "native/host/fiber.cc",
        "native/host/library.cc",
        "native/host/memory.cc",
        "native/host/pool.cc",
        "native/host/runtime.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      # Fortified longjmp refuses to jump between stacks; a fault in a fiber jumps from the
      # signal stack back to its worker's stack.
      "cflags_cc": ["-U_FORTIFY_SOURCE"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-U_FORTIFY_SOURCE"]
          }
        }]
      ]
    }
  ]
}
