RSpec.describe "Broken" do
  it "never loads" do
    expect(1).to eq(1)
  end
  undefined_method_at_load_time
end
