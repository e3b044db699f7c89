#[kit::message]
#[derive(Debug)]
struct Note {
    id: u64,
}

fn main() {}
