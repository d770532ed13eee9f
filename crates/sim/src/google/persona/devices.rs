//! The persona's trackers over the years (each point's `dataSource`) and the devices paired with
//! the account (`users/me/pairedDevices`).

use crate::google::civil;

/// A device paired with the persona's account.
#[derive(Debug)]
pub(crate) struct Device {
    pub display_name: &'static str,
    /// `Device.formFactor` enum value.
    pub form_factor: &'static str,
    /// `PairedDevice.deviceType`: `TRACKER` or `SCALE`.
    pub device_type: &'static str,
    /// `PairedDevice.features`.
    pub features: &'static [&'static str],
    pub mac_address: &'static str,
    /// Last civil day (days since 1970-01-01) this tracker recorded; `None` for the current one.
    pub last_day: Option<i64>,
}

const TRACKER_FEATURES: &[&str] = &[
    "STEPS",
    "DISTANCE",
    "CALORIES",
    "ELEVATION",
    "ACTIVE_MINUTES",
    "SEDENTARY_TIME",
    "HEART_RATE",
    "SLEEP",
];

/// Charge 2 (2016–2018), Versa 2 (2019–2022), Charge 6 (2023 on), and an Aria scale.
#[derive(Debug)]
pub(crate) struct Devices {
    trackers: [Device; 3],
    scale: Device,
}

impl Devices {
    pub(crate) fn standard() -> Self {
        Self {
            trackers: [
                Device {
                    display_name: "Charge 2",
                    form_factor: "FITNESS_BAND",
                    device_type: "TRACKER",
                    features: TRACKER_FEATURES,
                    mac_address: "C4:7A:3E:12:9B:01",
                    last_day: Some(civil::days_from_civil(2018, 12, 31)),
                },
                Device {
                    display_name: "Versa 2",
                    form_factor: "WATCH",
                    device_type: "TRACKER",
                    features: &[
                        "STEPS",
                        "DISTANCE",
                        "CALORIES",
                        "ELEVATION",
                        "ACTIVE_MINUTES",
                        "SEDENTARY_TIME",
                        "HEART_RATE",
                        "SLEEP",
                        "SMART_SLEEP",
                        "SPO2",
                        "ACTIVE_ZONE_MINUTES",
                    ],
                    mac_address: "E8:1B:62:4D:07:C3",
                    last_day: Some(civil::days_from_civil(2022, 12, 31)),
                },
                Device {
                    display_name: "Charge 6",
                    form_factor: "FITNESS_BAND",
                    device_type: "TRACKER",
                    features: &[
                        "STEPS",
                        "DISTANCE",
                        "CALORIES",
                        "ELEVATION",
                        "ACTIVE_MINUTES",
                        "SEDENTARY_TIME",
                        "HEART_RATE",
                        "SLEEP",
                        "SMART_SLEEP",
                        "SPO2",
                        "SKIN_TEMPERATURE",
                        "ACTIVE_ZONE_MINUTES",
                        "CONNECTED_GPS",
                    ],
                    mac_address: "F0:5C:19:A2:6E:44",
                    last_day: None,
                },
            ],
            scale: Device {
                display_name: "Aria 2",
                form_factor: "SCALE",
                device_type: "SCALE",
                features: &[],
                mac_address: "D2:33:8F:71:0A:5E",
                last_day: None,
            },
        }
    }

    /// The tracker worn on civil day `day`.
    pub(crate) fn on(&self, day: i64) -> &Device {
        self.trackers
            .iter()
            .find(|device| device.last_day.is_none_or(|last| day <= last))
            .unwrap_or(&self.trackers[2])
    }

    /// Every device paired with the account, current tracker first, then the scale and the
    /// retired trackers, newest first.
    pub(crate) fn paired(&self) -> [&Device; 4] {
        let [first, second, current] = &self.trackers;
        [current, &self.scale, second, first]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_follow_each_other() {
        let devices = Devices::standard();
        assert_eq!(
            devices.on(civil::days_from_civil(2016, 3, 1)).display_name,
            "Charge 2"
        );
        assert_eq!(
            devices
                .on(civil::days_from_civil(2018, 12, 31))
                .display_name,
            "Charge 2"
        );
        assert_eq!(
            devices.on(civil::days_from_civil(2019, 1, 1)).form_factor,
            "WATCH"
        );
        assert_eq!(
            devices
                .on(civil::days_from_civil(2026, 11, 21))
                .display_name,
            "Charge 6"
        );
        assert_eq!(devices.paired()[0].display_name, "Charge 6");
        assert_eq!(devices.paired()[1].device_type, "SCALE");
    }
}
