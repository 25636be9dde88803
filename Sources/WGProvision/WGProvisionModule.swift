import WGModel
public enum WGProvisionModule {}
