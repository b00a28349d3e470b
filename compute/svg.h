// SVG output of a Figure (figure.h): the same display list as the PNG, as vector shapes. Cell
// grids become run-length rectangles (one per run of equal colour in a row, the most common
// colour drawn once as the background), so a band mask at any n stays a few rectangles per row.
#pragma once

#include <string>

namespace salab {

struct Figure;

std::string to_svg(const Figure& f);
// Writes atomically; throws InputError when the file cannot be written.
void write_svg(const std::string& path, const Figure& f);

}  // namespace salab
