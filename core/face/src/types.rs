//! Geometry and result types shared by every stage of the face engine.
//!
//! Coordinates are in pixels of the (orientation-corrected) source image, origin top-left,
//! x to the right, y down.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    pub fn distance(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// Axis-aligned box: top-left corner plus size.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundingBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl BoundingBox {
    pub fn center(&self) -> Point {
        Point::new(self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union, 0 when either box is empty.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// The five landmarks YuNet gives, in this order: the person's right eye, left eye, nose tip,
/// right mouth corner, left mouth corner (the person's right is image-left for a frontal face).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Landmarks(pub [Point; 5]);

impl Landmarks {
    pub const RIGHT_EYE: usize = 0;
    pub const LEFT_EYE: usize = 1;
    pub const NOSE: usize = 2;
    pub const RIGHT_MOUTH: usize = 3;
    pub const LEFT_MOUTH: usize = 4;

    pub fn right_eye(&self) -> Point {
        self.0[Self::RIGHT_EYE]
    }
    pub fn left_eye(&self) -> Point {
        self.0[Self::LEFT_EYE]
    }
    pub fn nose(&self) -> Point {
        self.0[Self::NOSE]
    }
    pub fn right_mouth(&self) -> Point {
        self.0[Self::RIGHT_MOUTH]
    }
    pub fn left_mouth(&self) -> Point {
        self.0[Self::LEFT_MOUTH]
    }
    /// Distance between the eye centres, the usual scale of a face.
    pub fn interocular(&self) -> f32 {
        self.right_eye().distance(self.left_eye())
    }
}

/// One detected face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub bbox: BoundingBox,
    pub landmarks: Landmarks,
    /// Detector confidence in 0..=1.
    pub score: f32,
}

/// Identifier of a model, as in `models/manifest.toml` (e.g. `dlib_resnet_v1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ModelId(pub String);

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A face descriptor and the model that produced it. Descriptors of different models are never
/// compared with each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    pub model: ModelId,
    pub values: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_boxes_is_one_and_of_disjoint_is_zero() {
        let a = BoundingBox {
            x: 0.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        let b = BoundingBox {
            x: 20.0,
            y: 20.0,
            width: 10.0,
            height: 10.0,
        };
        let c = BoundingBox {
            x: 5.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&b), 0.0);
        assert!((a.iou(&c) - 50.0 / 150.0).abs() < 1e-6);
    }
}
