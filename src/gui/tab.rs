//! The one contract every tab of the central area keeps: a panel drawn with [`TabPanel::ui`]
//! from one [`TabContext`].

use super::Action;
use super::session::Session;
use super::settings::Settings;
use eframe::egui::Ui;

/// What a tab may read and change: the run as the window knows it, the settings (the side
/// panel's and each tab's view options), and the actions for the window to carry out after
/// the frame (file buttons too: the window asks for their paths, through its one chooser).
pub struct TabContext<'a> {
    pub session: &'a mut Session,
    pub settings: &'a mut Settings,
    pub actions: &'a mut Vec<Action>,
}

/// A tab's panel. Register it with one line in [`super::with_tabs`].
pub trait TabPanel {
    fn ui(&mut self, ui: &mut Ui, cx: &mut TabContext<'_>);
}
