//! Validation of site geofences and time zones.

use faceid_protocol::field_code::FieldCode;
use faceid_protocol::problem::FieldError;
use faceid_protocol::sites::{Geofence, MAX_POLYGON_VERTICES, MAX_RADIUS_M, MIN_RADIUS_M};
use geo::{GeodesicArea, LineString, Polygon, Validation};

/// Smallest polygon area accepted, in square metres.
pub const MIN_AREA_M2: f64 = 50.0;
/// Largest polygon area accepted, in square metres (2 500 km²).
pub const MAX_AREA_M2: f64 = 2.5e9;

fn err(field: &str, code: FieldCode, message: impl Into<String>) -> FieldError {
    FieldError::new(field, code, message)
}

fn check_lat_lon(field: &str, lat: f64, lon: f64) -> Result<(), FieldError> {
    if !lat.is_finite() || !lon.is_finite() {
        return Err(err(
            field,
            FieldCode::NotFinite,
            "coordinates must be finite numbers",
        ));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(err(
            field,
            FieldCode::OutOfRange,
            "latitude must be within -90..90",
        ));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(err(
            field,
            FieldCode::OutOfRange,
            "longitude must be within -180..180",
        ));
    }
    Ok(())
}

/// Checks a geofence; `field` is the path of the geofence in the request (e.g. `geofence`).
pub fn validate(field: &str, g: &Geofence) -> Result<(), FieldError> {
    match g {
        Geofence::Circle {
            latitude,
            longitude,
            radius_m,
        } => {
            check_lat_lon(field, *latitude, *longitude)?;
            if !radius_m.is_finite() {
                return Err(err(
                    &format!("{field}.radius_m"),
                    FieldCode::NotFinite,
                    "radius must be a finite number",
                ));
            }
            if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(radius_m) {
                return Err(err(
                    &format!("{field}.radius_m"),
                    FieldCode::OutOfRange,
                    format!("radius must be between {MIN_RADIUS_M} and {MAX_RADIUS_M} metres"),
                ));
            }
            Ok(())
        }
        Geofence::Polygon { coordinates } => {
            let cfield = format!("{field}.coordinates");
            let [ring] = coordinates.as_slice() else {
                return Err(err(
                    &cfield,
                    FieldCode::OneRingRequired,
                    "a geofence polygon has exactly one ring and no holes",
                ));
            };
            if ring.len() < 4 {
                return Err(err(
                    &cfield,
                    FieldCode::TooFewPoints,
                    "a ring needs at least 4 positions (3 distinct, then the first repeated)",
                ));
            }
            if ring.len() > MAX_POLYGON_VERTICES + 1 {
                return Err(err(
                    &cfield,
                    FieldCode::TooManyPoints,
                    format!("a ring has at most {MAX_POLYGON_VERTICES} vertices"),
                ));
            }
            for (i, [lon, lat]) in ring.iter().enumerate() {
                check_lat_lon(&format!("{cfield}[0][{i}]"), *lat, *lon)?;
            }
            if ring.first() != ring.last() {
                return Err(err(
                    &cfield,
                    FieldCode::RingNotClosed,
                    "the last position must repeat the first",
                ));
            }
            let line: LineString<f64> = ring.iter().map(|[lon, lat]| (*lon, *lat)).collect();
            let poly = Polygon::new(line, vec![]);
            if let Err(e) = poly.check_validation() {
                let code = match e {
                    geo::algorithm::validation::InvalidPolygon::SelfIntersection(_) => {
                        FieldCode::SelfIntersection
                    }
                    geo::algorithm::validation::InvalidPolygon::TooFewPointsInRing(_) => {
                        FieldCode::TooFewPoints
                    }
                    _ => FieldCode::InvalidPolygon,
                };
                return Err(err(&cfield, code, e.to_string()));
            }
            let area = poly.geodesic_area_unsigned();
            if !(MIN_AREA_M2..=MAX_AREA_M2).contains(&area) {
                return Err(err(
                    &cfield,
                    FieldCode::AreaOutOfRange,
                    format!("area {area:.0} m² is outside {MIN_AREA_M2}..{MAX_AREA_M2} m²"),
                ));
            }
            Ok(())
        }
    }
}

/// Checks an IANA time zone name.
pub fn validate_time_zone(field: &str, tz: &str) -> Result<(), FieldError> {
    tz.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        err(
            field,
            FieldCode::InvalidTimeZone,
            format!("{tz:?} is not an IANA time zone"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(lat: f64, lon: f64, r: f64) -> Geofence {
        Geofence::Circle {
            latitude: lat,
            longitude: lon,
            radius_m: r,
        }
    }
    fn poly(ring: &[[f64; 2]]) -> Geofence {
        Geofence::Polygon {
            coordinates: vec![ring.to_vec()],
        }
    }
    fn code(g: &Geofence) -> String {
        validate("geofence", g).unwrap_err().code
    }

    // ~200 m square in Moscow.
    const SQUARE: [[f64; 2]; 5] = [
        [37.6000, 55.7500],
        [37.6030, 55.7500],
        [37.6030, 55.7518],
        [37.6000, 55.7518],
        [37.6000, 55.7500],
    ];

    #[test]
    fn valid_shapes_pass() {
        validate("g", &circle(55.75, 37.61, 150.0)).unwrap();
        validate("g", &circle(-90.0, 180.0, 10.0)).unwrap();
        validate("g", &poly(&SQUARE)).unwrap();
    }

    #[test]
    fn circle_errors() {
        assert_eq!(code(&circle(91.0, 0.0, 100.0)), "out_of_range");
        assert_eq!(code(&circle(0.0, -180.5, 100.0)), "out_of_range");
        assert_eq!(code(&circle(f64::NAN, 0.0, 100.0)), "not_finite");
        assert_eq!(code(&circle(0.0, f64::INFINITY, 100.0)), "not_finite");
        assert_eq!(code(&circle(0.0, 0.0, f64::NAN)), "not_finite");
        assert_eq!(code(&circle(0.0, 0.0, 5.0)), "out_of_range");
        assert_eq!(code(&circle(0.0, 0.0, 60_000.0)), "out_of_range");
        assert_eq!(code(&circle(0.0, 0.0, -1.0)), "out_of_range");
    }

    #[test]
    fn polygon_errors() {
        let mut open = SQUARE.to_vec();
        open.pop();
        open.push([37.6001, 55.7501]);
        assert_eq!(code(&poly(&open)), "ring_not_closed");
        assert_eq!(code(&poly(&SQUARE[..3])), "too_few_points");
        // Bow tie: edges cross.
        let bow = [
            [37.600, 55.750],
            [37.603, 55.752],
            [37.603, 55.750],
            [37.600, 55.752],
            [37.600, 55.750],
        ];
        assert_eq!(code(&poly(&bow)), "self_intersection");
        let mut far = SQUARE;
        far[1] = [181.0, 55.75];
        assert_eq!(code(&poly(&far)), "out_of_range");
        let mut nan = SQUARE;
        nan[2] = [f64::NAN, 55.75];
        assert_eq!(code(&poly(&nan)), "not_finite");
        let holes = Geofence::Polygon {
            coordinates: vec![SQUARE.to_vec(), SQUARE.to_vec()],
        };
        assert_eq!(code(&holes), "one_ring_required");
        // Degenerate: all points on a line (zero area).
        let flat = [
            [37.600, 55.750],
            [37.601, 55.750],
            [37.602, 55.750],
            [37.600, 55.750],
        ];
        assert!(validate("g", &poly(&flat)).is_err());
        // A 1 m triangle is too small to be a workplace.
        let tiny = [
            [37.60000, 55.75000],
            [37.60001, 55.75000],
            [37.60000, 55.75001],
            [37.60000, 55.75000],
        ];
        assert_eq!(code(&poly(&tiny)), "area_out_of_range");
    }

    #[test]
    fn time_zones() {
        validate_time_zone("tz", "Europe/Moscow").unwrap();
        validate_time_zone("tz", "UTC").unwrap();
        assert_eq!(
            validate_time_zone("tz", "Mars/Olympus").unwrap_err().code,
            "invalid_time_zone"
        );
        assert!(validate_time_zone("tz", "").is_err());
    }
}
