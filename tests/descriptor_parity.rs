//! dlib's face descriptor: the network file, the chip and the descriptor
//! against dlib's Python binding (fixtures from tools/fixtures/descriptor_fixture.py).

mod common;

use famsim::dlib::dnn::{DnnFile, Layer};

#[test]
fn the_descriptor_network_file_reads_to_its_end() {
    let Some(path) = common::descriptor_model() else {
        return;
    };
    let file = DnnFile::load(&path).unwrap();
    // dnn_face_recognition_ex.cpp's anet_type: 29 convolutions, each with its
    // affine, 14 residual additions, 130 layers over the input.
    let count = |kind: &str| file.layers.iter().filter(|l| l.kind() == kind).count();
    assert_eq!(file.layers.len(), 130);
    assert_eq!((count("con"), count("affine"), count("add_prev")), (29, 29, 14));
    match &file.layers[0] {
        Layer::Fc(fc) => {
            assert_eq!((fc.num_inputs, fc.num_outputs), (256, 128));
            assert!(fc.biases.is_empty(), "fc_no_bias");
        }
        other => panic!("layer<1> is {}", other.kind()),
    }
    match &file.layers[129] {
        Layer::Con(c) => assert_eq!(
            (c.num_filters, c.in_channels, c.rows, c.stride_y, c.padding_y),
            (32, 3, 7, 2, 0)
        ),
        other => panic!("layer<130> is {}", other.kind()),
    }
    assert_eq!(file.input.size, Some((150, 150)));
    assert_eq!(
        (file.input.avg_red, file.input.avg_green, file.input.avg_blue),
        (122.782, 117.001, 104.298)
    );
}

#[test]
fn a_truncated_network_file_names_the_layer_and_the_offset() {
    let Some(path) = common::descriptor_model() else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.dat");
    // Half the file: the stream ends inside some convolution's parameters.
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = DnnFile::load(&cut).unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.exit_code(), 2, "{msg}");
    assert!(msg.contains("cut.dat"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.contains("(con_4) params"), "{msg}");
    assert!(msg.contains(&format!("byte {}", bytes.len() / 2)), "{msg}");
    let layer = msg.split("layer<").nth(1).and_then(|s| s.split('>').next());
    assert!(layer.is_some_and(|n| n.parse::<usize>().is_ok()), "{msg}");

    // A layer name famsim does not know is named too.
    let mut odd = bytes.clone();
    let at = odd.windows(7).position(|w| w == b"affine_").unwrap();
    odd[at..at + 7].copy_from_slice(b"affinX_");
    std::fs::write(&cut, &odd).unwrap();
    let msg = DnnFile::load(&cut).unwrap_err().to_string();
    assert!(msg.contains("`affinX_` is not one famsim reads"), "{msg}");
    // The offset is where the name ends.
    assert!(msg.contains(&format!("byte {}:", at + 7)), "{msg}");
}
