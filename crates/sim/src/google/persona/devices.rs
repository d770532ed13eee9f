//! The persona's trackers over the years, reported as each point's `dataSource`.

use serde::Serialize;

use crate::google::civil;

/// A tracker and the civil days it was worn.
#[derive(Debug)]
pub(crate) struct Device {
    pub display_name: &'static str,
    /// `Device.formFactor` enum value.
    pub form_factor: &'static str,
    /// Last civil day (days since 1970-01-01) this device recorded; `None` for the current one.
    last_day: Option<i64>,
}

/// `DataSource` of passively measured tracker data, as Google reports Fitbit device points.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DataSourceJson {
    recording_method: &'static str,
    device: DeviceJson,
    platform: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceJson {
    display_name: &'static str,
    form_factor: &'static str,
}

impl Device {
    pub(crate) fn data_source(&self) -> DataSourceJson {
        DataSourceJson {
            recording_method: "PASSIVELY_MEASURED",
            device: DeviceJson {
                display_name: self.display_name,
                form_factor: self.form_factor,
            },
            platform: "FITBIT",
        }
    }
}

/// Charge 2 (2016–2018), Versa 2 (2019–2022), Charge 6 (2023 on).
#[derive(Debug)]
pub(crate) struct Devices([Device; 3]);

impl Devices {
    pub(crate) fn standard() -> Self {
        Self([
            Device {
                display_name: "Charge 2",
                form_factor: "FITNESS_BAND",
                last_day: Some(civil::days_from_civil(2018, 12, 31)),
            },
            Device {
                display_name: "Versa 2",
                form_factor: "WATCH",
                last_day: Some(civil::days_from_civil(2022, 12, 31)),
            },
            Device {
                display_name: "Charge 6",
                form_factor: "FITNESS_BAND",
                last_day: None,
            },
        ])
    }

    /// The device worn on civil day `day`.
    pub(crate) fn on(&self, day: i64) -> &Device {
        self.0
            .iter()
            .find(|device| device.last_day.is_none_or(|last| day <= last))
            .unwrap_or(&self.0[2])
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
    }
}
