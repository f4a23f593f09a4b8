# The Metal addon (build/Release/smelt_metal.node), built only on macOS. binding.gyp includes
# this file; paths here are relative to this file. Strict JSON apart from these comment lines,
# so that tests can read it without gyp.
{
  "conditions": [
    ["OS==\"mac\"", {
      "targets": [
        {
          "target_name": "smelt_metal",
          "type": "loadable_module",
          "sources": ["smelt_metal.mm"],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
          "xcode_settings": {
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_CXX_LIBRARY": "libc++",
            "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
            "MACOSX_DEPLOYMENT_TARGET": "13.0",
            "OTHER_CPLUSPLUSFLAGS": ["-Wall", "-Wextra"]
          },
          "link_settings": {
            "libraries": ["-framework Metal", "-framework Foundation"]
          }
        }
      ]
    }]
  ]
}
