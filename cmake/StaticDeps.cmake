# globaldns_prefer_static_archives(): the third-party libraries linked from their static
# archives (lib<name>.a beside lib<name>.so, which Debian's -dev packages ship for all but
# spdlog and fmt), not as shared objects.
#
# Why: the process's peak RSS (issue 6's memory target) counts the pages of every shared object
# it maps. Linked against 63 of them (gRPC, Abseil in 40 pieces, protobuf, OpenSSL, Boost, ...)
# an idle server held 13.5 MB of file pages: each object's headers, symbol tables and relocations
# are read at start, and the kernel maps 64 KB around each page touched. From the archives, only
# the code the binary uses is in it, and the idle server holds about 6 MB less. The price: a
# fix to one of these libraries reaches the binary when it is rebuilt, as with any static build
# (GLOBALDNS_STATIC_DEPS=OFF links them shared).
#
# It re-points the imported targets made by find_package in this directory: their locations,
# and the paths in their link interfaces (pkg-config's targets list their libraries so). The C
# and C++ runtimes, spdlog and fmt stay shared.
function(globaldns_prefer_static_archives)
  get_property(targets DIRECTORY "${PROJECT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  set(switched 0)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "^(SHARED|UNKNOWN|STATIC|INTERFACE)_LIBRARY$")
      continue()
    endif()
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      # Debian's CMake packages were built in configuration "None": IMPORTED_LOCATION_NONE.
      set(properties IMPORTED_LOCATION)
      get_target_property(configurations ${target} IMPORTED_CONFIGURATIONS)
      if(configurations)
        foreach(configuration IN LISTS configurations)
          string(TOUPPER "${configuration}" configuration)
          list(APPEND properties IMPORTED_LOCATION_${configuration})
        endforeach()
      endif()
      foreach(property IN LISTS properties)
        get_target_property(location ${target} ${property})
        if(location)
          _globaldns_static_archive("${location}" archive)
          if(archive)
            set_target_properties(${target} PROPERTIES ${property} "${archive}")
            math(EXPR switched "${switched} + 1")
          endif()
        endif()
      endforeach()
    endif()
    get_target_property(interface ${target} INTERFACE_LINK_LIBRARIES)
    if(interface)
      set(rewritten "")
      foreach(item IN LISTS interface)
        _globaldns_static_archive("${item}" archive)
        if(archive)
          list(APPEND rewritten "${archive}")
          math(EXPR switched "${switched} + 1")
        else()
          list(APPEND rewritten "${item}")
        endif()
      endforeach()
      set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${rewritten}")
    endif()
  endforeach()
  # What the archives need after them, which their shared objects named themselves: ldns
  # OpenSSL's, OpenSSL libdl's and the threads library.
  if(TARGET PkgConfig::LDNS)
    set_property(TARGET PkgConfig::LDNS APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                 OpenSSL::SSL OpenSSL::Crypto)
  endif()
  if(TARGET OpenSSL::Crypto)
    set_property(TARGET OpenSSL::Crypto APPEND PROPERTY INTERFACE_LINK_LIBRARIES
                 Threads::Threads ${CMAKE_DL_LIBS})
  endif()
  message(STATUS "globaldns: ${switched} third-party libraries linked from static archives")
endfunction()

# The archive for `item`: a path to lib<name>.so[.version], or a library named bare ("re2") or
# as a flag ("-lre2"), whose lib<name>.a exists in the same directory (the system's for a name);
# otherwise empty.
function(_globaldns_static_archive item out)
  set(${out} "" PARENT_SCOPE)
  if(TARGET "${item}")
    return()  # a target keeps its own usage requirements
  endif()
  if(item MATCHES "^(.*)/lib([^/]+)\\.so(\\.[0-9.]+)?$")
    set(dir "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
  elseif(item MATCHES "^(-l)?([A-Za-z0-9_+]+)$")
    set(dir "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}")
    set(name "${CMAKE_MATCH_2}")
  else()
    return()
  endif()
  if(name MATCHES "^(spdlog|fmt|stdc\\+\\+|gcc_s|dl|m|rt|pthread|atomic|c)$")
    return()
  endif()
  if(EXISTS "${dir}/lib${name}.a")
    set(${out} "${dir}/lib${name}.a" PARENT_SCOPE)
  endif()
endfunction()
