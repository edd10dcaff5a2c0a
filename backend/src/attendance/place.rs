//! Where a punch was taken: the employee's sites and the nearest one to a fix.

use faceid_protocol::sites::Geofence;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// The nearest site of the employee for a fix: (site, distance from the site in metres,
/// inside allowing for accuracy). Circle: distance to the centre, inside when
/// distance − accuracy ≤ radius. Polygon: distance to the polygon (0 inside), inside when
/// distance − accuracy ≤ 0.
pub fn nearest_site(
    sites: &[(Uuid, String, Geofence)],
    lat: f64,
    lon: f64,
    accuracy: f64,
) -> Option<(Uuid, String, f64, bool)> {
    use geo::{Contains, Distance, Euclidean, Haversine, Point, Polygon};
    let mut best: Option<(Uuid, String, f64, bool, f64)> = None;
    for (id, name, g) in sites {
        let (distance, excess) = match g {
            Geofence::Circle {
                latitude,
                longitude,
                radius_m,
            } => {
                let d = Haversine.distance(Point::new(lon, lat), Point::new(*longitude, *latitude));
                (d, d - accuracy - radius_m)
            }
            Geofence::Polygon { coordinates } => {
                let Some(ring) = coordinates.first() else {
                    continue;
                };
                // Local equirectangular projection around the fix, in metres.
                let k = lat.to_radians().cos() * 111_320.0;
                let proj = |lo: f64, la: f64| ((lo - lon) * k, (la - lat) * 110_540.0);
                let poly =
                    Polygon::new(ring.iter().map(|[lo, la]| proj(*lo, *la)).collect(), vec![]);
                let p = Point::new(0.0, 0.0);
                let d = if poly.contains(&p) {
                    0.0
                } else {
                    Euclidean.distance(&p, &poly)
                };
                (d, d - accuracy)
            }
        };
        if best.as_ref().is_none_or(|b| excess < b.4) {
            best = Some((*id, name.clone(), distance, excess <= 0.0, excess));
        }
    }
    best.map(|(id, name, d, inside, _)| (id, name, d, inside))
}

/// The active sites of an employee with their geofences, by name.
pub async fn employee_sites(
    conn: &mut PgConnection,
    employee: Uuid,
) -> AppResult<Vec<(Uuid, String, Geofence)>> {
    let rows: Vec<(Uuid, String, serde_json::Value)> = sqlx::query_as(
        "SELECT s.id, s.name, s.geofence FROM sites s JOIN employee_sites es ON es.site_id = s.id
         WHERE es.employee_id = $1 AND s.active ORDER BY s.name",
    )
    .bind(employee)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|(id, name, g)| {
            let g: Geofence = serde_json::from_value(g).map_err(AppError::internal)?;
            Ok((id, name, g))
        })
        .collect()
}
