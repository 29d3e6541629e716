// The one translation unit that compiles Asio's and Beast's separable implementation
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are defined project-wide).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
